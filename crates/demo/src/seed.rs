//! Seeds the demo organisations once; on later starts, issues fresh worker tokens for them.

use chrono::Duration;
use spartex_api::{
    Agent, AgentStatus, CreateAgentRequest, CreateProjectRequest, Project, Role, Tenant, User,
};

use spartex_server::auth::{hash_password, new_opaque_token, AGENT_TOKEN_PREFIX};
use spartex_server::config::Secret;
use spartex_server::error::ApiResult;
use spartex_server::service::{new_id, projects};
use spartex_server::state::AppState;
use spartex_server::store::{DocFilter, DocKind, NewCost, WriteScope};
use spartex_server::write::Write;

#[derive(Clone)]
pub struct DemoUser {
    pub role: Role,
    pub email: String,
}

/// A simulated agent and the token its worker uses.
#[derive(Clone)]
pub struct DemoAgent {
    pub agent: Agent,
    pub project_name: String,
    pub token: Secret,
    /// Answers the project-wide thread.
    pub lead: bool,
}

pub struct DemoWorld {
    pub users: Vec<DemoUser>,
    pub agents: Vec<DemoAgent>,
}

struct OrgSpec {
    name: &'static str,
    slug: &'static str,
    users: &'static [(Role, &'static str, &'static str)],
    projects: &'static [ProjectSpec],
}

struct ProjectSpec {
    name: &'static str,
    description: &'static str,
    budget_usd: f64,
    /// Share of the budget already spent over the past week, so charts and guardrails show.
    spent_share: f64,
    agents: &'static [(&'static str, &'static str, &'static str)],
}

const ORGS: &[OrgSpec] = &[
    OrgSpec {
        name: "Acme Ads",
        slug: "acme-ads",
        users: &[
            (Role::Owner, "Olivia Park", "owner@acme.test"),
            (Role::Manager, "Marco Rossi", "manager@acme.test"),
            (Role::Oncall, "Dana Whitfield", "oncall@acme.test"),
            (Role::Oncall, "Priya Raman", "priya@acme.test"),
            (Role::Viewer, "Vic Chen", "viewer@acme.test"),
        ],
        projects: &[
            ProjectSpec {
                name: "Spring Sale 2027 — Paid Social",
                description: "Meta and TikTok campaign for Bloom & Co's spring sale: 3 audiences, 12 ad variants, \
                              $4,000 of media.",
                budget_usd: 4_000.0,
                spent_share: 0.41,
                agents: &[
                    ("Iris", "Strategist", "claude-sonnet-4-5"),
                    ("Quill", "Copywriter", "gpt-5"),
                    ("Pixel", "Designer", "gemini-2.5-pro"),
                    ("Ledger", "Media Buyer", "gpt-5-mini"),
                    ("Sentinel", "Compliance", "claude-opus-4-1"),
                ],
            },
            ProjectSpec {
                name: "Lumen X1 Launch",
                description: "Launch of the Lumen X1 smart desk lamp: search ads, launch-day social, PR replies.",
                budget_usd: 12_000.0,
                spent_share: 0.18,
                agents: &[
                    ("Atlas", "Strategist", "claude-sonnet-4-5"),
                    ("Verse", "Copywriter", "gpt-5"),
                    ("Bid", "Media Buyer", "gpt-5-mini"),
                    ("Metric", "Analyst", "gemini-2.5-pro"),
                ],
            },
            ProjectSpec {
                name: "The Weekly Edit — Newsletter",
                description: "Harbor Coffee's weekly newsletter to 48,210 subscribers: copy, send, and reporting.",
                budget_usd: 600.0,
                spent_share: 0.78,
                agents: &[
                    ("Ink", "Copywriter", "claude-sonnet-4-5"),
                    ("Tally", "Analyst", "gpt-5-mini"),
                    ("Guard", "Compliance", "claude-opus-4-1"),
                ],
            },
        ],
    },
    OrgSpec {
        name: "Northwind Outfitters",
        slug: "northwind",
        users: &[
            (Role::Owner, "Nora Lindqvist", "owner@northwind.test"),
            (Role::Oncall, "Sam Ortiz", "oncall@northwind.test"),
        ],
        projects: &[ProjectSpec {
            name: "Autumn Catalogue Push",
            description: "Paid social for the autumn catalogue across the Nordics and the UK.",
            budget_usd: 2_500.0,
            spent_share: 0.3,
            agents: &[("Fern", "Copywriter", "gpt-5"), ("Cedar", "Media Buyer", "gpt-5-mini"), ("Moss", "Analyst", "gemini-2.5-pro")],
        }],
    },
];

/// Seeds the demo organisations if they are not there yet, and returns the world with fresh
/// worker tokens either way.
pub async fn ensure_seeded(state: &AppState, password: &Secret) -> ApiResult<DemoWorld> {
    let mut world = DemoWorld {
        users: Vec::new(),
        agents: Vec::new(),
    };
    for org in ORGS {
        let owner = org.users[0].2;
        let tenant_id = match state.store.user_credentials(owner).await? {
            Some(existing) => existing.tenant_id,
            None => match seed_org(state, org, password).await {
                Ok(tenant_id) => tenant_id,
                // Another instance on the same database seeded it at the same moment.
                Err(error) => match state.store.user_credentials(owner).await? {
                    Some(existing) => existing.tenant_id,
                    None => return Err(error),
                },
            },
        };
        world
            .users
            .extend(org.users.iter().map(|(role, _, email)| DemoUser {
                role: *role,
                email: (*email).into(),
            }));
        world
            .agents
            .extend(issue_worker_tokens(state, &tenant_id).await?);
    }
    Ok(world)
}

async fn seed_org(state: &AppState, org: &OrgSpec, password: &Secret) -> ApiResult<String> {
    let hash = hash_password(password.clone()).await?;
    let tenant = Tenant {
        id: new_id("ten"),
        name: org.name.into(),
        slug: org.slug.into(),
    };
    let mut w = Write::begin(state, WriteScope::Tenant(&tenant.id)).await?;
    w.tx().insert_tenant(&tenant).await?;
    for (role, name, email) in org.users {
        let user = User {
            id: new_id("usr"),
            email: (*email).into(),
            name: (*name).into(),
            role: *role,
        };
        w.tx().insert_user(&tenant.id, &user, &hash).await?;
    }
    for spec in org.projects {
        let project = projects::create_in(
            &mut w,
            &tenant.id,
            CreateProjectRequest {
                name: spec.name.into(),
                description: spec.description.into(),
                budget_usd: spec.budget_usd,
            },
        )
        .await?;
        let mut agents = Vec::new();
        for (name, role, model) in spec.agents {
            let created = projects::create_agent_in(
                &mut w,
                &tenant.id,
                &project.id,
                CreateAgentRequest {
                    name: (*name).into(),
                    role: (*role).into(),
                    model: (*model).into(),
                },
            )
            .await?
            .created;
            agents.push(created.agent);
        }
        seed_spend_history(&mut w, &tenant.id, project, agents, spec.spent_share).await?;
    }
    w.commit().await?;
    tracing::info!(org = org.name, "seeded demo organisation");
    Ok(tenant.id)
}

/// Spreads the project's past spend over the last seven days, per agent, as cost records.
async fn seed_spend_history(
    w: &mut Write,
    tenant_id: &str,
    mut project: Project,
    agents: Vec<Agent>,
    spent_share: f64,
) -> ApiResult<()> {
    let total = (project.budget_usd * spent_share * 100.0).round() / 100.0;
    let days = 7_i64;
    let slices = days * i64::try_from(agents.len()).unwrap_or(1);
    let now = w.now();
    let mut spent = 0.0;
    for (index, mut agent) in agents.into_iter().enumerate() {
        for day in 0..days {
            // Later days cost more as campaigns ramp up; agents differ a little.
            let weight = (1.0 + day as f64 * 0.25) * (1.0 + index as f64 * 0.1);
            let cost = ((total / slices as f64) * weight / 1.9 * 100.0).round() / 100.0;
            let tokens = (cost * 180_000.0) as i64;
            let at = now - Duration::days(days - day)
                + Duration::hours(i64::try_from(index).unwrap_or(0));
            w.tx()
                .insert_cost(
                    tenant_id,
                    &NewCost {
                        project_id: &project.id,
                        agent_id: &agent.id,
                        at_s: at.timestamp(),
                        model: &agent.model,
                        tokens_in: tokens * 4 / 5,
                        tokens_out: tokens / 5,
                        cost_usd: cost,
                    },
                )
                .await?;
            agent.tokens_used += tokens;
            agent.cost_usd += cost;
            spent += cost;
        }
        agent.cost_usd = (agent.cost_usd * 100.0).round() / 100.0;
        agent.status = AgentStatus::Idle;
        w.update(tenant_id, &mut agent).await?;
    }
    project.spent_usd = (spent * 100.0).round() / 100.0;
    w.update(tenant_id, &mut project).await
}

/// Worker tokens are stored hashed, so each start issues new ones for the simulated workers.
async fn issue_worker_tokens(state: &AppState, tenant_id: &str) -> ApiResult<Vec<DemoAgent>> {
    let mut w = Write::begin(state, WriteScope::Tenant(tenant_id)).await?;
    let projects: Vec<Project> = w.list(tenant_id, DocFilter::all(DocKind::Project)).await?;
    let mut demo_agents = Vec::new();
    for project in projects {
        let agents: Vec<Agent> = w
            .list(
                tenant_id,
                DocFilter::in_project(DocKind::Agent, &project.id),
            )
            .await?;
        let lead_id = agents
            .iter()
            .find(|a| a.role == "Strategist")
            .or(agents.first())
            .map(|a| a.id.clone());
        for agent in agents {
            let (token, hash) = new_opaque_token(AGENT_TOKEN_PREFIX);
            w.tx()
                .insert_agent_token(&hash, tenant_id, &agent.id)
                .await?;
            let lead = lead_id.as_deref() == Some(agent.id.as_str());
            demo_agents.push(DemoAgent {
                agent,
                project_name: project.name.clone(),
                token,
                lead,
            });
        }
    }
    w.commit().await?;
    Ok(demo_agents)
}
