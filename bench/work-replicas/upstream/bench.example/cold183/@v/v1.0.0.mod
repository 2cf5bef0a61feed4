module bench.example/cold183

go 1.21
