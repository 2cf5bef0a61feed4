module bench.example/cold294

go 1.21
