module bench.example/cold82

go 1.21
