//! Tries to reach files, the environment and the network, and reports what it found.

use gatehouse_sdk::{Error, Request, Response, json, ok};

fn handle(_req: Request) -> Result<Response, Error> {
    let read_passwd = std::fs::read_to_string("/etc/passwd").is_ok();
    let list_root = std::fs::read_dir("/").map(|d| d.count()).unwrap_or(0);
    let list_cwd = std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0);
    let write_tmp = std::fs::write("/tmp/gatehouse-escape", b"x").is_ok();
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args: Vec<String> = std::env::args().collect();
    let tcp = std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").is_ok();
    let dns = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80)).is_ok();
    ok(json!({
        "readPasswd": read_passwd,
        "listRoot": list_root,
        "listCwd": list_cwd,
        "writeTmp": write_tmp,
        "env": env,
        "args": args,
        "tcp": tcp,
        "udp": udp,
        "dns": dns,
    }))
}

gatehouse_sdk::endpoint!(handle);
