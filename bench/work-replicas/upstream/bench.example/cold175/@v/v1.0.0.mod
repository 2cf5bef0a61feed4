module bench.example/cold175

go 1.21
