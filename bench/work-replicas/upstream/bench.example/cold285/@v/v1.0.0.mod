module bench.example/cold285

go 1.21
