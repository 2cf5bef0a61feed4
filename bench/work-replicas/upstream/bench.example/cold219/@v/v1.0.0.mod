module bench.example/cold219

go 1.21
