module bench.example/cold249

go 1.21
