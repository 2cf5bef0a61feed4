module bench.example/cold201

go 1.21
