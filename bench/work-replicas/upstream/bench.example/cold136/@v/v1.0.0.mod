module bench.example/cold136

go 1.21
