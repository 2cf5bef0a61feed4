module bench.example/cold152

go 1.21
