module bench.example/cold228

go 1.21
