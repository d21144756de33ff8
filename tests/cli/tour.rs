use crate::support::{Home, RUN_LIMIT};

#[test]
fn the_tour_walks_through_every_kind_of_call_and_exits_zero() {
    let home = Home::new();
    let mut command = assert_cmd::Command::from_std(home.command());
    command.arg("demo").timeout(RUN_LIMIT);
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    for line in [
        "$ grpcx list\n",
        "$ grpcx describe ItemService\n",
        "$ grpcx call ItemService/GetItem '{\"id\": 1}'\n",
        "$ grpcx call ItemService/GetItem '{\"id\": 99}'\n",
        "$ grpcx call ItemService/ListItems",
        "$ grpcx call ItemService/CreateItems",
        "$ grpcx call ItemService/SyncItems",
        "(exit code 69)",
        "$ grpcx bench ItemService/GetItem '{\"id\": 1}' -c 4 -n 200\n",
        "  Count:         200\n",
        "  [OK]\t200 responses",
        "\"name\":\"Claw hammer\"",
        "\"outcome\":\"OUTCOME_NOT_FOUND\"",
        // The gateway's steps, answered by a real gateway in the tour's process.
        "/v1/items/1\n{\"id\":\"1\",\"name\":\"Claw hammer\"",
        "/grpcx.demo.v1.ItemService/GetItem\n{\"id\":\"2\"",
        "HTTP/1.1 404 Not Found\n{\"code\":5,\"message\":\"no item with id 99\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ResourceInfo\"",
        "{\"result\":{\"id\":\"4\",\"name\":\"Torque wrench\"",
        "{\"status\":{\"code\":0,",
    ] {
        assert!(stdout.contains(line), "the tour shows {line:?}:\n{stdout}");
    }
    assert_eq!(
        stderr
            .matches("ERROR: NOT_FOUND: no item with id 99")
            .count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}
