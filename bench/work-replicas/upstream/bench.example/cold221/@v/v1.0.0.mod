module bench.example/cold221

go 1.21
