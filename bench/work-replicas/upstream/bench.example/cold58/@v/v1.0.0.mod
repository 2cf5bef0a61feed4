module bench.example/cold58

go 1.21
