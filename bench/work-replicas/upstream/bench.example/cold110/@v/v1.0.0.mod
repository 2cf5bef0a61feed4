module bench.example/cold110

go 1.21
