//! Listeners: one router served over plain HTTP and over HTTPS, with graceful shutdown.
//!
//! The caller binds (tests bind `127.0.0.1:0`), this module serves. Each connection is driven by hyper's
//! HTTP/1.1 server; every request carries a [`ConnInfo`] extension naming its peer and scheme (URLs such
//! as `instance_url` and `nextRecordsUrl` are built from the request's `Host` and this scheme) and a
//! [`ConnKill`] that the fault engine uses to reset the TCP connection (`SO_LINGER 0`, then close).
//!
//! A [`ListenerGate`] lets the fault engine *refuse* connections: while closed, the listening socket is
//! dropped (clients get `ECONNREFUSED`) and bound again when the gate reopens.

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What a request knows about its connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// `peer` as text, formatted once per connection (every request journals it).
    pub peer_text: Arc<str>,
    pub local: SocketAddr,
    pub scheme: Scheme,
    pub kill: Arc<ConnKill>,
    /// The session the connection's last request named (see [`crate::state::SessionCache`]).
    pub sessions: Arc<crate::state::SessionCache>,
}

impl ConnInfo {
    /// A connection's facts, as the server records them when it accepts one.
    pub fn new(
        peer: SocketAddr,
        local: SocketAddr,
        scheme: Scheme,
        kill: Arc<ConnKill>,
    ) -> ConnInfo {
        ConnInfo {
            peer,
            peer_text: peer.to_string().into(),
            local,
            scheme,
            kill,
            sessions: Default::default(),
        }
    }
}

/// A handle to abort a connection with a TCP reset.
#[derive(Debug)]
pub struct ConnKill {
    /// A duplicate of the connection's descriptor, to set SO_LINGER on; given up by `reset`.
    socket: parking_lot::Mutex<Option<socket2::Socket>>,
    attached: bool,
    /// The task serving the connection: aborting it drops (closes) the connection.
    task: std::sync::OnceLock<tokio::task::AbortHandle>,
    /// Set by `reset`, for a reset that comes before the task's handle is known.
    killed: std::sync::atomic::AtomicBool,
}

impl ConnKill {
    fn new(stream: &TcpStream) -> ConnKill {
        ConnKill::with_socket(socket2::SockRef::from(stream).try_clone().ok())
    }

    /// A handle for requests that did not come through a socket (tests with `oneshot`).
    pub fn detached() -> Arc<ConnKill> {
        Arc::new(ConnKill::with_socket(None))
    }

    fn with_socket(socket: Option<socket2::Socket>) -> ConnKill {
        ConnKill {
            attached: socket.is_some(),
            socket: parking_lot::Mutex::new(socket),
            task: Default::default(),
            killed: Default::default(),
        }
    }

    /// Whether there is a socket to reset.
    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// Reset the connection: linger 0 makes the close send RST instead of FIN. The duplicate
    /// descriptor is closed here and the connection task drops the original, so the last close —
    /// the one that sends RST — follows at once. (A `shutdown` would send FIN first, and the client
    /// would read a clean end of stream instead of a reset.)
    pub fn reset(&self) {
        if let Some(s) = self.socket.lock().take() {
            let _ = s.set_linger(Some(Duration::ZERO));
        }
        self.killed.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.get() {
            task.abort();
        }
    }

    /// Name the task serving the connection (once it is spawned).
    fn serve_in(&self, task: tokio::task::AbortHandle) {
        let task = self.task.get_or_init(|| task);
        // A reset that came first (it saw no task) is carried out now.
        if self.killed.load(Ordering::SeqCst) {
            task.abort();
        }
    }
}

/// Opens and closes listeners for the `refuse` outage mode.
#[derive(Debug, Clone)]
pub struct ListenerGate {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for ListenerGate {
    fn default() -> Self {
        let (tx, _) = watch::channel(true);
        ListenerGate { tx: Arc::new(tx) }
    }
}

impl ListenerGate {
    /// `true` accepts connections, `false` refuses them.
    pub fn set_open(&self, open: bool) {
        self.tx.send_if_modified(|v| {
            let changed = *v != open;
            *v = open;
            changed
        });
    }

    pub fn is_open(&self) -> bool {
        *self.tx.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// What a listener serves: a clonable service answering every request.
pub trait App:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The copy a new connection serves (its requests clone it in turn).
    fn for_connection(&self) -> Self {
        self.clone()
    }
}

impl App for axum::Router {}

/// A bound listener and how to serve it.
pub struct Listener {
    pub listener: TcpListener,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Listener {
    pub fn plain(listener: TcpListener) -> Listener {
        Listener {
            listener,
            tls: None,
        }
    }

    pub fn tls(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> Listener {
        Listener {
            listener,
            tls: Some(config),
        }
    }
}

/// Serve `app` (the simulator's [`crate::service`], or any router) on every listener until `shutdown`
/// is cancelled, then finish in-flight requests (up to `grace`) and return.
pub async fn serve<A: App>(
    listeners: Vec<Listener>,
    app: A,
    gate: ListenerGate,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let graceful = Arc::new(hyper_util::server::graceful::GracefulShutdown::new());
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        tasks.spawn(accept_loop(
            l,
            app.clone(),
            gate.clone(),
            shutdown.clone(),
            graceful.clone(),
        ));
    }
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r {
            tracing::error!("listener failed: {e}");
        }
    }
    let graceful = Arc::try_unwrap(graceful).ok();
    if let Some(g) = graceful {
        if tokio::time::timeout(grace, g.shutdown()).await.is_err() {
            tracing::warn!("connections still open after {grace:?}; closing them");
        }
    }
    Ok(())
}

async fn accept_loop<A: App>(
    l: Listener,
    app: A,
    gate: ListenerGate,
    shutdown: CancellationToken,
    graceful: Arc<hyper_util::server::graceful::GracefulShutdown>,
) -> std::io::Result<()> {
    let addr = l.listener.local_addr()?;
    let scheme = if l.tls.is_some() {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let acceptor = l.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let mut listener = Some(l.listener);
    let mut gate_rx = gate.subscribe();
    loop {
        let Some(current) = listener.as_ref() else {
            // Refusing: wait for the gate to reopen, then bind again.
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                r = gate_rx.changed() => {
                    if r.is_err() { return Ok(()); }
                    if *gate_rx.borrow() {
                        listener = Some(bind_again(addr).await?);
                    }
                    continue;
                }
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = gate_rx.changed() => {
                if r.is_ok() && !*gate_rx.borrow() {
                    listener = None;
                }
            }
            accepted = current.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let kill = Arc::new(ConnKill::new(&stream));
                let info = ConnInfo::new(peer, addr, scheme, kill.clone());
                let app = app.clone();
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                let shutdown = shutdown.clone();
                let task = tokio::spawn(async move {
                    match acceptor {
                        Some(acc) => {
                            let tls = match tokio::time::timeout(Duration::from_secs(10), acc.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                _ => return,
                            };
                            serve_conn(TokioIo::new(tls), info, app, watcher, shutdown).await
                        }
                        None => serve_conn(TokioIo::new(stream), info, app, watcher, shutdown).await,
                    }
                });
                kill.serve_in(task.abort_handle());
            }
        }
    }
}

async fn bind_again(addr: SocketAddr) -> std::io::Result<TcpListener> {
    // The old socket may linger briefly; retry a few times on the scenario clock.
    let mut last = None;
    for _ in 0..50 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("bind failed")))
}

/// A connection that has had no request in flight and started none for this long is closed (what
/// a load balancer in front of an org does to idle keep-alive connections; it also bounds a client
/// that opens a connection and never finishes a request head).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection's requests, counted for its idle timeout: each request writes to these counters of
/// its own connection only, instead of arming a timer per request.
#[derive(Debug, Default)]
struct Activity {
    started: AtomicU64,
    finished: AtomicU64,
}

/// Marks a request finished when its answer is ready or it is dropped (the connection went away).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// Resolves once `activity` shows a whole [`IDLE_TIMEOUT`] with nothing in flight and nothing started.
async fn idle_out(activity: &Activity) {
    let mut seen = u64::MAX;
    loop {
        tokio::time::sleep(IDLE_TIMEOUT).await;
        let started = activity.started.load(Ordering::Relaxed);
        let finished = activity.finished.load(Ordering::Relaxed);
        if started == seen && finished == started {
            return;
        }
        seen = started;
    }
}

async fn serve_conn<I, A: App>(
    io: I,
    info: ConnInfo,
    app: A,
    watcher: hyper_util::server::graceful::Watcher,
    shutdown: CancellationToken,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let app = app.for_connection();
    let activity = Arc::new(Activity::default());
    let counted = activity.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        counted.started.fetch_add(1, Ordering::Relaxed);
        let in_flight = InFlight(counted.clone());
        let answer = app.clone().oneshot(req.map(axum::body::Body::new));
        async move {
            let answered = answer.await;
            drop(in_flight);
            answered
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).max_buf_size(64 * 1024);
    let conn = builder.serve_connection(io, svc);
    let conn = watcher.watch(conn);
    tokio::select! {
        r = conn => {
            if let Err(e) = r {
                tracing::trace!("connection ended: {e}");
            }
        }
        _ = idle_out(&activity) => {
            tracing::debug!("closing a connection idle for {IDLE_TIMEOUT:?}");
        }
    }
    // Held connections (long polls, `hang` faults) watch the shutdown token themselves.
    drop(shutdown);
}
