module bench.example/cold196

go 1.21
