module bench.example/cold229

go 1.21
