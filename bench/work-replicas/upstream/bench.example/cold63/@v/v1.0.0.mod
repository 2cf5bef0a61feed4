module bench.example/cold63

go 1.21
