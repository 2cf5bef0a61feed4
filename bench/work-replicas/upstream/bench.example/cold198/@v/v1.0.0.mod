module bench.example/cold198

go 1.21
