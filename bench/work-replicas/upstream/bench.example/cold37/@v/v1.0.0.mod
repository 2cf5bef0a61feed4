module bench.example/cold37

go 1.21
