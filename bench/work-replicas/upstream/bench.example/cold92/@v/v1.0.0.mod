module bench.example/cold92

go 1.21
