module bench.example/cold87

go 1.21
