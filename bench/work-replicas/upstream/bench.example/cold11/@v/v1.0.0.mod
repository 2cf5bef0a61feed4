module bench.example/cold11

go 1.21
