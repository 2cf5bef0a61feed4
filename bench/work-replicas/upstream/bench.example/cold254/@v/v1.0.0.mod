module bench.example/cold254

go 1.21
