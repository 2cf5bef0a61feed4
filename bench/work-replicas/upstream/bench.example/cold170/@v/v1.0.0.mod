module bench.example/cold170

go 1.21
