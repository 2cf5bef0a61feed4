module bench.example/cold290

go 1.21
