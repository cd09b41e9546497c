//! tokio-echo: the tokio peer of benches/bench_echo.c, a server that
//! scripts/bench.sh measures from outside with benches/peers/c/loadgen.
//!
//!     tokio-echo [-port P]      (0, the default: a free port)
//!
//! A current_thread runtime (the server is pinned to one CPU, as gort runs
//! with GORT_MAXPROCS=1 and Go with GOMAXPROCS=1), one task per connection,
//! each with its own 4 KiB buffer: read, then write the bytes back.
//! Prints "LISTEN port=N pid=PID impl=tokio" once listening on 127.0.0.1.
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn raise_nofile() {
    // The idle measurement holds 10,000 connections; Go raises its soft
    // limit by itself, std and tokio do not.
    unsafe {
        let mut rl: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

async fn serve(mut c: TcpStream) {
    let mut buf = vec![0u8; 4096];
    loop {
        match c.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if c.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}

fn main() {
    let mut port: u16 = 0;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("-port", Some(v)) => {
                port = v.parse().unwrap_or_else(|_| usage());
                i += 2;
            }
            _ => usage(),
        }
    }
    raise_nofile();
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().expect("tokio runtime");
    rt.block_on(async move {
        let ln = TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| {
            eprintln!("tokio-echo: bind: {e}");
            std::process::exit(2)
        });
        let port = ln.local_addr().unwrap().port();
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "LISTEN port={port} pid={} impl=tokio", std::process::id());
            let _ = out.flush();
        }
        loop {
            match ln.accept().await {
                Ok((c, _)) => {
                    // Go's net package sets TCP_NODELAY on every connection;
                    // the C servers do too.
                    let _ = c.set_nodelay(true);
                    tokio::spawn(serve(c));
                }
                // Out of descriptors and the like: wait and retry, as Go's net/http does.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            }
        }
    });
}

fn usage() -> ! {
    eprintln!("usage: tokio-echo [-port P]");
    std::process::exit(2)
}
