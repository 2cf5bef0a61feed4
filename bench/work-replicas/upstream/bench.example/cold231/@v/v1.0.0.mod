module bench.example/cold231

go 1.21
