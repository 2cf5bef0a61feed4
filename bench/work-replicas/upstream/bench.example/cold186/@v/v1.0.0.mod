module bench.example/cold186

go 1.21
