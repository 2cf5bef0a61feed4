module bench.example/cold287

go 1.21
