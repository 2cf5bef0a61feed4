module bench.example/cold115

go 1.21
