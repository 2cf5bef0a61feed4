module bench.example/cold243

go 1.21
