use crate::support::TestServer;

#[test]
fn list_prints_every_service_sorted_one_a_line() {
    let server = TestServer::start();
    let run = server.grpcx(&["list"]);
    assert_eq!(
        run.ok(),
        "grpc.health.v1.Health\n\
         grpc.reflection.v1.ServerReflection\n\
         grpc.reflection.v1alpha.ServerReflection\n\
         grpcx.demo.v1.ItemService\n\
         grpcx.demo.v1.TypesService\n"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn list_service_prints_its_methods_by_full_or_short_name() {
    let server = TestServer::start();
    let expected = "grpcx.demo.v1.ItemService.GetItem\n\
                    grpcx.demo.v1.ItemService.ListItems\n\
                    grpcx.demo.v1.ItemService.CreateItems\n\
                    grpcx.demo.v1.ItemService.SyncItems\n";
    assert_eq!(
        server.grpcx(&["list", "grpcx.demo.v1.ItemService"]).ok(),
        expected
    );
    assert_eq!(server.grpcx(&["list", "ItemService"]).ok(), expected);
}

#[test]
fn global_options_are_accepted_after_the_subcommand() {
    let server = TestServer::start();
    let addr = server.addr.clone();
    let run = crate::support::run(
        &[
            "list".to_string(),
            "--addr".to_string(),
            addr,
            "-H".into(),
            "x-test: 1".into(),
        ],
        None,
    );
    assert!(run.ok().contains("grpcx.demo.v1.ItemService"));
}

#[test]
fn the_address_can_come_from_grpcx_addr() {
    let server = TestServer::start();
    let home = crate::support::Home::new();
    let mut command = home.command();
    command
        .arg("list")
        .env("GRPCX_ADDR", format!("http://{}", server.addr));
    let mut command = assert_cmd::Command::from_std(command);
    command.timeout(crate::support::RUN_LIMIT);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("grpcx.demo.v1.ItemService"));
}
