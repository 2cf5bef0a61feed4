module bench.example/cold215

go 1.21
