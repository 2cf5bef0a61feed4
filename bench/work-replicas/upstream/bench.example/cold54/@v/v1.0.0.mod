module bench.example/cold54

go 1.21
