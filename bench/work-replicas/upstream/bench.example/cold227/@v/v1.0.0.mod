module bench.example/cold227

go 1.21
