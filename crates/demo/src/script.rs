//! What simulated agents do and say: believable work for an advertising agency's agents.
//! Pure functions of (role, project, round, feedback), so the demo reads well and tests can
//! check it without a server.

use serde_json::{json, Value};
use spartex_api::{OnExpiry, Preview, RequestApproval, Risk};

/// One unit of work: a task with a few steps, maybe ending in a request for approval.
#[derive(Debug, Clone)]
pub struct TaskPlan {
    pub title: String,
    pub steps: u32,
    pub approval: Option<RequestApproval>,
    /// Said in the agent's thread when the task starts.
    pub opening: Option<String>,
}

/// The kind of work a project is, read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brief {
    PaidSocial,
    ProductLaunch,
    Newsletter,
    Catalogue,
}

impl Brief {
    pub fn of(project_name: &str) -> Brief {
        let name = project_name.to_lowercase();
        if name.contains("newsletter") || name.contains("edit") {
            Brief::Newsletter
        } else if name.contains("launch") {
            Brief::ProductLaunch
        } else if name.contains("catalogue") {
            Brief::Catalogue
        } else {
            Brief::PaidSocial
        }
    }

    fn brand(self) -> &'static str {
        match self {
            Brief::PaidSocial => "Bloom & Co",
            Brief::ProductLaunch => "Lumen",
            Brief::Newsletter => "Harbor Coffee",
            Brief::Catalogue => "Northwind Outfitters",
        }
    }
}

fn pick<'a>(options: &[&'a str], round: u64) -> &'a str {
    let len = u64::try_from(options.len()).unwrap_or(1).max(1);
    options[usize::try_from(round % len).unwrap_or(0)]
}

/// The next task for an agent of `role` on round `round`; `feedback` is the comment of the
/// last rejection, which the agent works into its next attempt instead of asking again as-is.
pub fn next_task(role: &str, brief: Brief, round: u64, feedback: Option<&str>) -> TaskPlan {
    match role {
        "Copywriter" => copywriter(brief, round, feedback),
        "Media Buyer" => media_buyer(brief, round, feedback),
        "Strategist" => strategist(brief, round),
        "Designer" => designer(brief, round, feedback),
        "Compliance" => compliance(brief, round, feedback),
        _ => analyst(brief, round),
    }
}

fn revised(feedback: Option<&str>) -> String {
    feedback
        .map(|f| format!("\n\n_Revised after review feedback: “{f}”._"))
        .unwrap_or_default()
}

fn copywriter(brief: Brief, round: u64, feedback: Option<&str>) -> TaskPlan {
    if brief == Brief::Newsletter {
        let subject = if feedback.is_some() {
            "Your Sunday pour: three beans we can't stop brewing"
        } else {
            pick(
                &[
                    "This week: the Ethiopian natural everyone's asking about",
                    "Cold brew season is back (and it's 20% off)",
                ],
                round,
            )
        };
        return TaskPlan {
            title: format!("Draft issue #{} of The Weekly Edit", 112 + round),
            steps: 4,
            opening: Some("Starting this week's issue: pulling the roast calendar and last week's top clicks.".into()),
            approval: Some(RequestApproval {
                kind: "send_newsletter".into(),
                title: format!("Send The Weekly Edit #{} to 48,210 subscribers", 112 + round),
                summary: format!(
                    "Ready to send to the **full list (48,210 subscribers)** at 07:00 local time. \
                     Open rate last 4 issues: 41.2 %. Unsubscribe link and postal address included.{}",
                    revised(feedback)
                ),
                payload: json!({ "list_id": "harbor-all", "recipients": 48210, "send_at": "07:00 local", "subject": subject }),
                preview: Some(Preview::Copy {
                    channel: "Email — Harbor Coffee newsletter".into(),
                    headline: Some(subject.into()),
                    body: "Good morning! This week we're brewing a washed Yirgacheffe with notes of jasmine and \
                           bergamot, plus a first look at our cold-brew kit. Members get free shipping through Sunday."
                        .into(),
                    image_description: Some("Overhead shot of a pour-over on a walnut counter, morning light".into()),
                    audience: Some("All subscribers (48,210)".into()),
                }),
                risk: Risk::Critical,
                expires_in_s: 30 * 60,
                task_id: None,
                on_expiry: Some(OnExpiry::Reject),
                answers_ask: None,
            }),
        };
    }
    let (network, headline, body, audience) = match brief {
        Brief::ProductLaunch => (
            "Google Search",
            pick(&["Lumen X1: The Desk Lamp That Learns Your Day", "Meet Lumen X1 — Light That Adapts"], round),
            "Circadian lighting that shifts with your schedule. Launch price $129 (reg. $159). Free 2-day shipping.",
            "Searches: smart desk lamp, circadian lamp, home office lighting (US)",
        ),
        Brief::Catalogue => (
            "Meta Ads — Feed",
            pick(&["Layer Up: The Autumn Catalogue Is Here", "Trail-Ready Knits, Now 25% Off"], round),
            "Merino layers, waxed jackets and boots built for wet trails. Shop the autumn catalogue.",
            "Adults 25-54, Nordics + UK, interest: hiking, outdoor clothing",
        ),
        _ => (
            "Meta Ads — Feed and Stories",
            pick(&["Spring Into Savings: 30% Off Everything", "Fresh Blooms, Fresh Looks — 30% Off This Week"], round),
            "Our spring sale is here. Dresses, linens and garden décor at 30% off through Sunday. Free returns.",
            "Women 25-44, US, interest: home & garden, fashion",
        ),
    };
    let headline = match feedback {
        Some(_) => format!("{headline} (revised)"),
        None => headline.to_owned(),
    };
    TaskPlan {
        title: format!("Write ad set {} for {}", round + 1, brief.brand()),
        steps: 3,
        opening: Some(format!("Drafting {} variants for {network}; I'll send the strongest for approval.", 3 + round % 3)),
        approval: Some(RequestApproval {
            kind: "publish_ad".into(),
            title: format!("Publish “{headline}” on {network}"),
            summary: format!(
                "Publish ad set {} for **{}** on {network}. Daily budget unchanged; runs until the campaign ends.{}",
                round + 1,
                brief.brand(),
                revised(feedback)
            ),
            payload: json!({ "network": network, "ad_set": format!("as-{}", 4100 + round), "headline": headline, "body": body }),
            preview: Some(Preview::Copy {
                channel: network.into(),
                headline: Some(headline.clone()),
                body: body.into(),
                image_description: Some(match brief {
                    Brief::ProductLaunch => "Lumen X1 on a white oak desk at dusk, warm light on a notebook".into(),
                    Brief::Catalogue => "Model in a rust merino sweater on a misty forest trail".into(),
                    _ => "Sunlit linen dress on a model among tulips, 30% OFF badge top-right".into(),
                }),
                audience: Some(audience.into()),
            }),
            risk: Risk::Medium,
            expires_in_s: 15 * 60,
            task_id: None,
            on_expiry: Some(OnExpiry::Reject),
            answers_ask: None,
        }),
    }
}

fn media_buyer(brief: Brief, round: u64, feedback: Option<&str>) -> TaskPlan {
    let old: f64 = [150.0, 250.0, 400.0][usize::try_from(round % 3).unwrap_or(0)];
    let critical = round % 4 == 3;
    let new = match (critical, feedback.is_some()) {
        (true, false) => old + 5000.0,
        (true, true) => old + 2500.0,
        (false, false) => old * 1.6,
        (false, true) => old * 1.25,
    };
    let (title, risk, period) = if critical {
        (
            format!(
                "Commit ${:.0} more to {} this month",
                new - old,
                brief.brand()
            ),
            Risk::Critical,
            "month",
        )
    } else {
        (
            format!(
                "Raise daily budget of {} ad set to ${new:.0}",
                brief.brand()
            ),
            Risk::High,
            "day",
        )
    };
    TaskPlan {
        title: format!("Rebalance bids for {} (round {})", brief.brand(), round + 1),
        steps: 3,
        opening: Some("Pulling yesterday's CPA by ad set; two are under target and can take more spend.".into()),
        approval: Some(RequestApproval {
            kind: "spend_budget".into(),
            title,
            summary: format!(
                "CPA on the best ad set is **$18.40** against a $25 target; ROAS 3.1. Raising spend from \
                 ${old:.0} to **${new:.0}** per {period} should add ~{} conversions.{}",
                ((new - old) / 18.4).round(),
                revised(feedback)
            ),
            payload: json!({ "ad_set": format!("as-{}", 4100 + round), "old_budget_usd": old, "new_budget_usd": new, "period": period }),
            preview: Some(Preview::Amount {
                currency: "USD".into(),
                old_amount: Some(old),
                new_amount: new,
                period: Some(period.into()),
            }),
            risk,
            expires_in_s: 10 * 60,
            task_id: None,
            on_expiry: Some(OnExpiry::Reject),
            answers_ask: None,
        }),
    }
}

fn strategist(brief: Brief, round: u64) -> TaskPlan {
    let (old_age, new_age) = if round.is_multiple_of(2) {
        ("25-44", "25-54")
    } else {
        ("25-54", "30-54")
    };
    TaskPlan {
        title: format!("Weekly plan review for {}", brief.brand()),
        steps: 4,
        opening: Some("Reviewing last week's results against the plan.".into()),
        approval: round.is_multiple_of(2).then(|| RequestApproval {
            kind: "update_targeting".into(),
            title: format!("Widen {} targeting to ages {new_age}", brief.brand()),
            summary: "The 45-54 segment converts at 1.4x the average on retargeting. Widening the prospecting \
                      age range should lower CPA ~8 %. Auto-approves if nobody objects in 20 minutes."
                .into(),
            payload: json!({ "file": "targeting.yaml", "age_range": new_age }),
            preview: Some(Preview::Diff {
                path: "campaigns/targeting.yaml".into(),
                unified_diff: format!(
                    "--- a/campaigns/targeting.yaml\n+++ b/campaigns/targeting.yaml\n@@ -3,6 +3,6 @@\n \
                     geo: [US]\n-age_range: {old_age}\n+age_range: {new_age}\n interests:\n   - home_and_garden\n-  \
                     - fashion\n+  - fashion\n+  - gardening\n exclude_purchasers_days: 30\n"
                ),
            }),
            risk: Risk::Low,
            expires_in_s: 20 * 60,
            task_id: None,
            on_expiry: Some(OnExpiry::Approve),
            answers_ask: None,
        }),
    }
}

fn designer(brief: Brief, round: u64, feedback: Option<&str>) -> TaskPlan {
    TaskPlan {
        title: format!("Creative brief {} for {}", round + 1, brief.brand()),
        steps: 4,
        opening: Some("Briefing the next round of creatives: 1:1, 4:5 and 9:16 cuts.".into()),
        approval: (round % 2 == 1).then(|| RequestApproval {
            kind: "use_testimonial".into(),
            title: "Use Priya S.'s review in the carousel".into(),
            summary: format!(
                "Priya S. left a 5-star review and ticked “OK to feature”. Quoting it verbatim on card 2.{}",
                revised(feedback)
            ),
            payload: json!({ "review_id": "rv-88213", "placement": "carousel card 2" }),
            preview: Some(Preview::Copy {
                channel: "Meta Ads — Carousel card 2".into(),
                headline: Some("★★★★★ “Best purchase this spring”".into()),
                body: "“The linen set is even softer than it looks, and it survived three washes.” — Priya S., verified buyer".into(),
                image_description: Some("Customer photo of the linen set on a balcony, cropped 1:1".into()),
                audience: None,
            }),
            risk: Risk::Medium,
            expires_in_s: 15 * 60,
            task_id: None,
            on_expiry: Some(OnExpiry::Reject),
            answers_ask: None,
        }),
    }
}

fn compliance(brief: Brief, round: u64, feedback: Option<&str>) -> TaskPlan {
    TaskPlan {
        title: format!("Claims review, batch {} for {}", round + 1, brief.brand()),
        steps: 3,
        opening: Some("Checking this batch's claims against substantiation on file.".into()),
        approval: round.is_multiple_of(3).then(|| RequestApproval {
            kind: "reply_publicly".into(),
            title: "Reply publicly to a complaint about a late delivery".into(),
            summary: format!(
                "@marcus_t complained on Instagram (2.1k likes) that his order arrived 9 days late. Proposed public \
                 reply below; it offers a refund of shipping, which support has confirmed.{}",
                revised(feedback)
            ),
            payload: json!({ "platform": "instagram", "in_reply_to": "c_99812", "offer": "shipping refund" }),
            preview: Some(Preview::Copy {
                channel: "Instagram — public reply".into(),
                headline: None,
                body: "Marcus, we're sorry: nine days is not OK. We've refunded your shipping and sent you a DM so we \
                       can make it right."
                    .into(),
                image_description: None,
                audience: Some("Public".into()),
            }),
            risk: Risk::High,
            expires_in_s: 20 * 60,
            task_id: None,
            on_expiry: Some(OnExpiry::Reject),
            answers_ask: None,
        }),
    }
}

fn analyst(brief: Brief, round: u64) -> TaskPlan {
    TaskPlan {
        title: pick(
            &[
                "Daily performance report",
                "Attribution check: view-through vs click",
                "Creative fatigue scan",
                "Budget pacing forecast",
            ],
            round,
        )
        .to_owned()
            + " — "
            + brief.brand(),
        steps: 4,
        opening: None,
        approval: None,
    }
}

/// A line of progress an agent may post while it works.
pub fn progress_note(role: &str, round: u64) -> &'static str {
    match role {
        "Analyst" => pick(
            &[
                "Yesterday: 412 conversions at $21.30 CPA (-6 % vs the week before).",
                "Stories placements are fatiguing: CTR down 18 % over 5 days.",
                "Pacing is on track: 47 % of budget spent at 45 % of the flight.",
            ],
            round,
        ),
        "Media Buyer" => "Bids adjusted on 6 ad sets; holding the rest until tomorrow's data.",
        "Designer" => "First cuts uploaded to the shared drive for review.",
        "Compliance" => "Flagged one claim (“clinically proven”) without substantiation; asked Copy to soften it.",
        "Strategist" => "Plan for next week drafted: shift 10 % of spend from prospecting to retargeting.",
        _ => "Drafts are in; picking the strongest two.",
    }
}

/// What an agent answers when a person writes to it.
pub fn chat_reply(role: &str, agent_name: &str, incoming: &str) -> String {
    let topic: String = incoming.chars().take(80).collect();
    let lower = incoming.to_lowercase();
    if lower.contains("status") || lower.contains("how") || lower.contains("update") {
        return format!(
            "{agent_name} ({role}) here: {}",
            progress_note(role, incoming.len() as u64)
        );
    }
    if lower.contains("stop") || lower.contains("pause") || lower.contains("hold") {
        return format!("Understood — I'll hold new work on “{topic}” until you say go.");
    }
    format!("On it: “{topic}”. I'll report back in this thread once it's done.")
}

/// The same request again, after a person asked for it once the first expired unanswered,
/// with their comment taken into account: quoted at the top, and passed in the arguments.
pub fn reproposal(expired: &spartex_api::Approval, comment: Option<&str>) -> RequestApproval {
    let note = match comment {
        Some(comment) => format!("Asked again after the first request expired unanswered. Reworked with your note: “{comment}”."),
        None => "Asked again after the first request expired unanswered; unchanged.".to_owned(),
    };
    let summary: String = format!("{note}\n\n{}", expired.summary)
        .chars()
        .take(20_000)
        .collect();
    let mut payload = expired.payload.clone();
    if let (Some(comment), Some(arguments)) = (comment, payload.as_object_mut()) {
        arguments.insert("reviewer_note".into(), comment.into());
    }
    RequestApproval {
        kind: expired.kind.clone(),
        title: expired.title.clone(),
        summary,
        payload,
        preview: expired.preview.clone(),
        risk: expired.risk,
        expires_in_s: (expired.expires_at - expired.created_at)
            .num_seconds()
            .clamp(60, 7 * 24 * 3600),
        task_id: expired.task_id.clone(),
        on_expiry: Some(expired.on_expiry),
        answers_ask: Some(expired.id.clone()),
    }
}

/// What an agent says after its request was settled.
pub fn outcome_message(
    status: spartex_api::ApprovalStatus,
    title: &str,
    comment: Option<&str>,
) -> String {
    use spartex_api::ApprovalStatus as S;
    match (status, comment) {
        (S::Approved, _) => format!("Approved — done: {title}."),
        (S::Rejected, Some(comment)) => {
            format!("Understood: “{comment}”. Reworking it and I'll ask again.")
        }
        (S::Rejected, None) => {
            format!("Rejected — dropping “{title}” and moving to the next item.")
        }
        (S::Expired, _) => {
            format!("No decision in time on “{title}”; I've parked it and moved on.")
        }
        (S::Cancelled, _) => format!("“{title}” was cancelled; not acting on it."),
        (S::Pending, _) => format!("Still waiting on “{title}”."),
        (S::Unknown, _) => format!("“{title}” was settled; not acting on it."),
    }
}

/// Tokens and dollars for one step of work by a model.
pub fn step_cost(model: &str, round: u64) -> (i64, i64, f64) {
    let tokens_in = 1_800 + i64::try_from(round % 7).unwrap_or(0) * 350;
    let tokens_out = 450 + i64::try_from(round % 5).unwrap_or(0) * 120;
    let (per_m_in, per_m_out) = match model {
        m if m.contains("opus") => (15.0, 75.0),
        m if m.contains("mini") => (0.25, 2.0),
        m if m.contains("gemini") => (1.25, 10.0),
        _ => (3.0, 15.0),
    };
    let cost = (tokens_in as f64 * per_m_in + tokens_out as f64 * per_m_out) / 1_000_000.0;
    (tokens_in, tokens_out, (cost * 10_000.0).round() / 10_000.0)
}

/// The payload as JSON, for logging and tests.
pub fn describe(plan: &TaskPlan) -> Value {
    json!({ "title": plan.title, "steps": plan.steps, "asks": plan.approval.as_ref().map(|a| a.kind.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_risk_level_is_asked_for_by_some_role() {
        let mut risks = std::collections::HashSet::new();
        for role in [
            "Copywriter",
            "Media Buyer",
            "Strategist",
            "Designer",
            "Compliance",
            "Analyst",
        ] {
            for brief in [Brief::PaidSocial, Brief::Newsletter] {
                for round in 0..8 {
                    if let Some(approval) = next_task(role, brief, round, None).approval {
                        risks.insert(approval.risk);
                        assert!(approval.preview.is_some(), "{role} asks without a preview");
                    }
                }
            }
        }
        assert_eq!(risks.len(), Risk::ALL.len());
    }

    #[test]
    fn a_rejection_comment_changes_the_next_attempt() {
        let first = next_task("Copywriter", Brief::PaidSocial, 0, None)
            .approval
            .expect("asks");
        let second = next_task("Copywriter", Brief::PaidSocial, 0, Some("less salesy"))
            .approval
            .expect("asks");
        assert_ne!(first.title, second.title);
        assert!(second.summary.contains("less salesy"));
        let buyer = next_task("Media Buyer", Brief::PaidSocial, 0, None)
            .approval
            .expect("asks");
        let cautious = next_task("Media Buyer", Brief::PaidSocial, 0, Some("too much"))
            .approval
            .expect("asks");
        assert!(
            cautious.payload["new_budget_usd"].as_f64() < buyer.payload["new_budget_usd"].as_f64()
        );
    }

    #[test]
    fn briefs_follow_project_names() {
        assert_eq!(Brief::of("The Weekly Edit — Newsletter"), Brief::Newsletter);
        assert_eq!(Brief::of("Lumen X1 Launch"), Brief::ProductLaunch);
        assert_eq!(
            Brief::of("Spring Sale 2027 — Paid Social"),
            Brief::PaidSocial
        );
    }
}
