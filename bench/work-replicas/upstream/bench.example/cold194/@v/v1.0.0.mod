module bench.example/cold194

go 1.21
