module bench.example/cold262

go 1.21
