module bench.example/cold288

go 1.21
