use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{watch, Notify};

use super::reconnect::{at_least_as_asked, backoff, WakeWatch, WallClock, CLOCK_JUMP};
use super::Syncer;
use crate::changes::Publisher;
use crate::session::Session;
use crate::{Change, LinkState};

/// The machine's wall clock, moved by however many seconds `offset` holds.
fn movable_clock() -> (WallClock, Arc<AtomicI64>) {
    let offset = Arc::new(AtomicI64::new(0));
    let clock: WallClock = Arc::new({
        let offset = offset.clone();
        move || {
            let by = offset.load(Ordering::SeqCst);
            let now = SystemTime::now();
            if by >= 0 {
                now + Duration::from_secs(by.unsigned_abs())
            } else {
                now - Duration::from_secs(by.unsigned_abs())
            }
        }
    });
    (clock, offset)
}

#[tokio::test]
async fn a_wall_clock_that_jumps_either_way_is_noticed_and_one_that_keeps_time_is_not() {
    let (clock, offset) = movable_clock();
    let mut watch = WakeWatch::new(clock);
    assert_eq!(watch.check(), None, "the clocks kept together");
    offset.store(8 * 3600, Ordering::SeqCst);
    let jump = watch.check().expect("a night asleep");
    assert!(jump > Duration::from_secs(8 * 3600 - 60), "{jump:?}");
    assert_eq!(watch.check(), None, "noticed once, from the new time on");
    offset.store(8 * 3600 - 120, Ordering::SeqCst);
    let back = watch.check().expect("a clock set back two minutes");
    assert!(back > CLOCK_JUMP, "{back:?}");
    offset.store(8 * 3600 - 115, Ordering::SeqCst);
    assert_eq!(watch.check(), None, "a few seconds' correction is no jump");
}

/// A laptop that slept the night shows "live" at once only if it is: the socket from before
/// is dropped and opened again within seconds of waking, where it was trusted for up to
/// 45 s more (the runtime's clock does not count the time asleep) and then backed off.
#[tokio::test]
async fn a_night_asleep_reconnects_the_event_socket_at_once() {
    let signed = crate::delivery::with_a_server::signed_in().await;
    let account = &signed.account;
    let (clock, offset) = movable_clock();
    let id = &account.info().id;
    let session = Session::new(id, account.session().http().clone(), signed.secrets.clone());
    let publisher = Publisher::new();
    let syncer = Syncer::new(
        id,
        Arc::new(session),
        account.store().clone(),
        publisher.clone(),
        Arc::new(Notify::new()),
        watch::channel(crate::sync::AlertsHere::default()).1,
    )
    .with_wall_clock(clock);
    let mut changes = publisher.subscribe();
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(async move { syncer.run_realtime(stopped).await });
    let mut link_becomes = async |wanted: LinkState, what: &str| {
        let became = async {
            loop {
                match changes.recv().await {
                    Ok(Change::Link { state }) if state == wanted => return,
                    Ok(_) => {}
                    Err(error) => panic!("the changes ended: {error}"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(15), became)
            .await
            .unwrap_or_else(|_| panic!("{what}: the link never became {wanted:?}"));
    };
    link_becomes(LinkState::Connected, "the link comes up").await;

    offset.store(9 * 3600, Ordering::SeqCst);
    link_becomes(LinkState::Connecting, "the socket is dropped on waking").await;
    link_becomes(LinkState::Connected, "and opened again").await;

    stop.send_replace(true);
    running.await.expect("the link stops");
}

#[test]
fn a_wait_the_server_asked_for_is_kept_and_spread_by_a_fifth_at_most() {
    let asked = Duration::from_secs(30);
    for _ in 0..200 {
        let wait = at_least_as_asked(Duration::from_secs(1), Some(asked));
        assert!(wait >= asked && wait <= asked.mul_f64(1.2), "{wait:?}");
    }
    let long_backoff = Duration::from_secs(40);
    assert_eq!(at_least_as_asked(long_backoff, Some(asked)), long_backoff);
    assert_eq!(at_least_as_asked(long_backoff, None), long_backoff);
    let short = Duration::from_millis(250);
    assert_eq!(at_least_as_asked(short, Some(Duration::ZERO)), short);
}

#[test]
fn backoff_is_full_jitter_under_a_ceiling_that_grows_to_30_s() {
    for failures in 0..20 {
        let ceiling = 250u128 * (1 << failures.min(7));
        for _ in 0..50 {
            let wait = backoff(failures).as_millis();
            assert!(wait <= ceiling.min(30_000), "{failures}: {wait} ms");
        }
    }
    // Every attempt is spread, the first too: clients a deploy dropped together do not
    // all come back at the same instant.
    let first: std::collections::BTreeSet<u128> = (0..50).map(|_| backoff(0).as_millis()).collect();
    assert!(first.len() > 5, "the first waits differ: {first:?}");
    let late: u128 = (0..200).map(|_| backoff(10).as_millis()).sum::<u128>() / 200;
    assert!(
        (10_000..=20_000).contains(&late),
        "after many failures the mean wait approaches 15 s, got {late} ms"
    );
}
