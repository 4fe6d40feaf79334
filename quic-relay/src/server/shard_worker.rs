//! One shard's task: a [`RoomShard`] fed by its message channel, its events delivered to the
//! connections' mailboxes. Payloads never come here: paired connections exchange them directly. Nothing else touches the shard's rooms, so there is no lock: the relay
//! scales with the number of shards as long as rooms spread over them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sans_io_proto::frame::{ErrorCode, RelayFrame};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::SharedStats;
use super::budget::{Charge, ConnHandle, OutFrame, ToConn, try_take};
use crate::core::{ConnEvent, RoomShard, ShardEvent, ShardOutput, ShardRequest, frame_cost};

/// A request as the server's shards receive it.
pub(crate) type Request = ShardRequest<ConnHandle>;

/// Requests handled between two publications of the shard's counters.
const BATCH: usize = 256;

/// Runs shard `index` until every sender of its channel is gone.
pub(crate) async fn run(
    index: usize,
    mut shard: RoomShard<ConnHandle>,
    mut rx: mpsc::UnboundedReceiver<Request>,
    stats: Arc<SharedStats>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut published = shard.stats();
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        for request in batch.drain(..) {
            shard.handle_request(request);
            while let Some(out) = shard.poll_output() {
                deliver(out);
            }
        }
        let now = shard.stats();
        stats.shard_rooms[index].store(now.rooms, Ordering::Relaxed);
        stats
            .redirects
            .fetch_add(now.redirects - published.redirects, Ordering::Relaxed);
        stats
            .refused
            .fetch_add(now.refused - published.refused, Ordering::Relaxed);
        published = now;
    }
    debug!(shard = index, "shard stopped");
}

fn deliver(out: ShardOutput<ConnHandle>) {
    let ShardOutput { to, event } = out;
    let message = match event {
        ShardEvent::Frame(frame) => {
            log_frame(&to, &frame);
            let bytes = frame.to_bytes();
            match try_take(&to.control, frame_cost(bytes.len())) {
                Some(permit) => ToConn::Frame(OutFrame {
                    bytes,
                    _charge: Charge::of(permit),
                }),
                None => {
                    warn!(
                        conn = to.id.0,
                        "room events pile up unread: closing a client that does not read"
                    );
                    ToConn::Close(ErrorCode::SlowReader)
                }
            }
        }
        ShardEvent::JoinDone(room) => ToConn::Event(ConnEvent::JoinDone(room)),
        ShardEvent::Paired(peer) => ToConn::Peer(peer),
        ShardEvent::Left => ToConn::Event(ConnEvent::Left),
    };
    to.send(message);
}

fn log_frame(to: &ConnHandle, frame: &RelayFrame) {
    let conn = to.id.0;
    match frame {
        RelayFrame::Joined { room, seat } => info!(conn, %room, seat, "joined"),
        RelayFrame::Redirected { from, to } => info!(conn, %from, %to, "redirected (room full)"),
        RelayFrame::PeerLeft => info!(conn, "peer left"),
        RelayFrame::Error { code, message } => warn!(conn, ?code, %message, "error sent"),
        // Never log payload contents.
        RelayFrame::Payload(_) | RelayFrame::Pong(_) => {}
        other => debug!(conn, frame = ?other, "frame"),
    }
}
