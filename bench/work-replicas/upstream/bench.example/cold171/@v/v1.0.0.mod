module bench.example/cold171

go 1.21
