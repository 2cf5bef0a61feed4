module bench.example/cold295

go 1.21
