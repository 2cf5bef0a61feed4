module bench.example/cold17

go 1.21
