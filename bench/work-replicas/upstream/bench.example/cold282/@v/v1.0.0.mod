module bench.example/cold282

go 1.21
