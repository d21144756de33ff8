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
        "\"name\":\"Claw hammer\"",
        "\"outcome\":\"OUTCOME_NOT_FOUND\"",
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
