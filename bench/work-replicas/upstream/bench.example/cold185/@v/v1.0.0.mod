module bench.example/cold185

go 1.21
