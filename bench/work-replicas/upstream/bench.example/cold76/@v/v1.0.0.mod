module bench.example/cold76

go 1.21
