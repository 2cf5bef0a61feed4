module bench.example/cold77

go 1.21
