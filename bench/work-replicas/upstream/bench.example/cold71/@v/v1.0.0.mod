module bench.example/cold71

go 1.21
